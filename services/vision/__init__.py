"""Vision: people detection, tracking, line crossings, zones and journeys from camera frames.

Domain modules (no transport): :mod:`~footfall.services.vision.lines`, :mod:`~footfall.services.vision.zones`,
:mod:`~footfall.services.vision.tracking`, :mod:`~footfall.services.vision.pipeline`, :mod:`~footfall.services.vision.sources`,
:mod:`~footfall.services.vision.offline` (``footfall process``). The service: :mod:`~footfall.services.vision.service`
(the facade: streams), :mod:`~footfall.services.vision.pushed_frames`, :mod:`~footfall.services.vision.live_view`,
:mod:`~footfall.services.vision.camera_session` (one run of one camera), :mod:`~footfall.services.vision.stream_worker`
and :mod:`~footfall.services.vision.frame_reader` (reading a source), :mod:`~footfall.services.vision.cluster` (streams
shared between workers). Nothing is imported here so that importing one module never loads the detector or the
tracking libraries.
"""
