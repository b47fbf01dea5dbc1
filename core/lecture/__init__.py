"""The lecture's demonstrations: one module per idea of NYU Deep Learning 04.1, pure functions a page calls
(signals and their measures, sounds, the linear layer, convolution as a matrix, sparsity, sharing, kernels,
padding, pooling, the stepper, famous networks). They use the network language (``core.nets``) and may read a real
data set (``core.practicum.data``), never the training service."""
