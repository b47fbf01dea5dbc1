"""The training service: the ``Trainer`` and its engines (a local pool, or a Dask cluster), the Dask task and its
progress events, the store of finished runs, and the command line (``python -m core.service.experiment``)."""
