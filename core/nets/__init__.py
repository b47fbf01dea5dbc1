"""The network language, shared by the lecture and the practicum: the layer-list language and its costs, the
presets, per-layer tables, locally connected layers, which layers grow a receptive field, the analytic and
empirical fields, grouped training of twin nets, and thread-safe tracing. It imports no other room."""
