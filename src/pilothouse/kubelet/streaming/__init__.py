"""The streaming protocols the kubelet serves: container logs, exec and attach over the
WebSocket channel protocols (v4/v5.channel.k8s.io) and over SPDY/3.1, and port forwarding over
SPDY (plain or tunnelled in a WebSocket) and over the WebSocket channel protocol.

The modules are layered: :mod:`.spdy` (frames and header compression) under
:mod:`.spdysession` (streams over one connection); :mod:`.channels` (WebSocket channel
framing); :mod:`.upgrade` (choosing a protocol and taking over the connection);
:mod:`.remotecommand` and :mod:`.portforward` bridge those transports to the runtime's
streaming sessions and sandbox ports; :mod:`.targets` finds containers through the runtime and
:mod:`.logs` serves their logs.
"""
