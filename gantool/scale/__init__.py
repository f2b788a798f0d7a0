"""Past one process: labelled data sets (`gantool generate`) and a service (`gantool serve`), on one
machine or a Ray cluster. Torch-free: everything here runs on the runtime's Sampler.

    configs.py     GenerateConfig and ServeConfig (no numpy at import: the CLI reads their defaults)
    plan.py        the labels of image i (a pure function of i) and --mix
    writers.py     IDX regions, deterministic .npz shards, gzip finishing
    dataset.py     the output folder and its manifest (what is done, each shard's SHA-256)
    generate.py    the local engine: shards in order, a progress line, resume
    ray_start.py   a local Ray cluster that stays on 127.0.0.1 and probes no cloud metadata
    ray_engine.py  the same shards on Ray Data (an actor pool of Samplers)
    protocol.py    the service's queries, batched model call and responses (both servers)
    service.py     the ASGI app (Starlette): micro-batching, a bounded queue, metrics
    ray_serve.py   the same app's work as a Ray Serve deployment
"""
