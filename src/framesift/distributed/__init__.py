"""framesift's per-video work spread over a Ray cluster (the optional ``framesift[ray]`` extra).

Ray is imported inside the functions that use it: the package imports, and every command
without ``--ray`` runs, where Ray is not installed. ``connect`` joins (or starts) a cluster;
``WorkerPool`` keeps one warm worker per actor and hands each the next item as it finishes.
"""

from framesift.distributed.cluster import (
    LOCAL,
    WorkerPool,
    cluster_cpus,
    connect,
    require_ray,
    worker_gpus,
)

__all__ = ["LOCAL", "WorkerPool", "cluster_cpus", "connect", "require_ray", "worker_gpus"]
