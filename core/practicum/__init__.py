"""The practicum's data and runs: data sets (one ``DatasetSpec`` each) and their loaders, what a run is
(``RunConfig``, ``Progress``, ``RunResult``), the training engine, the device, atomic files, the verdict and what
the trained nets learned. It builds on ``core.nets`` only."""
