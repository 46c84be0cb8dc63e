"""Vision: people detection, tracking, line crossings, zones and journeys from camera frames.

Domain modules (no transport): :mod:`~services.vision.lines`, :mod:`~services.vision.zones`,
:mod:`~services.vision.tracking`, :mod:`~services.vision.pipeline`, :mod:`~services.vision.sources`,
:mod:`~services.vision.offline` (``footfall process``). Nothing is imported here so that importing
one module never loads the detector or the tracking libraries.
"""
