"""Vision: people detection, tracking, line crossings, zones and journeys from camera frames.

Domain modules (no transport): :mod:`~footfall.services.vision.lines`, :mod:`~footfall.services.vision.zones`,
:mod:`~footfall.services.vision.tracking`, :mod:`~footfall.services.vision.pipeline`, :mod:`~footfall.services.vision.sources`,
:mod:`~footfall.services.vision.offline` (``footfall process``). Nothing is imported here so that importing
one module never loads the detector or the tracking libraries.
"""
