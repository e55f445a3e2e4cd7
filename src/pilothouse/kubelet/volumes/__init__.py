"""Pod volumes for the kubelet: emptyDir, hostPath, configMap, secret, downwardAPI, projected
and persistentVolumeClaim (hostPath and local PersistentVolumes), with subPath mounts.

    manager = VolumeManager(config.pods_dir, client=client, allocatable=node_allocatable)
    volumes = await manager.setup(pod)            # VolumeError(reason, message) -> pod event
    mounts = manager.container_mounts(pod, container, volumes, env=env)
    await manager.refresh(pod, volumes)           # on every pod sync: live configMap updates
    await manager.teardown(pod_uid)

See :mod:`.manager` for the guarantees and one module per volume type for its behaviour.
"""

from pilothouse.kubelet.volumes.errors import VolumeError
from pilothouse.kubelet.volumes.manager import VolumeManager
from pilothouse.kubelet.volumes.podvolumes import PodVolume, PodVolumes

__all__ = ["PodVolume", "PodVolumes", "VolumeError", "VolumeManager"]
