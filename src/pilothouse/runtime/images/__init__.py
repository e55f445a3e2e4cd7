"""Images: content-addressed OCI store, unpacked layers, overlay snapshots, registries, builds.

Entry points: :class:`store.ImageStore` (images, pull, push, import, export, garbage
collection), :class:`snapshots.Snapshotter` (one writable overlay per container over the
image's shared read-only layers), :func:`busybox.ensure_busybox_image` and
:mod:`build.builder` (Dockerfile builds). Nothing here knows about the cluster.
"""
