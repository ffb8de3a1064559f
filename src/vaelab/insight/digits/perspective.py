"""Step 1b: a sheet photographed in perspective made square (:func:`squared_sheet`).

A phone held in front of a sheet on a desk sees its far edge shorter than its near one: the
sheet is a quadrilateral, not a rectangle, its ruled lines converge and no single slope levels
them (read as 1s: such photos of lined or squared sheets read 0 % right in
benchmarks/reading_photos.py). Where the whole sheet lies inside the picture
(:func:`~vaelab.insight.digits.ink.ink_on_sheet` found it on a desk), its four corners fix the
perspective: the sheet is warped onto a rectangle (scikit-image's ProjectiveTransform).
:func:`~vaelab.insight.digits.number.read_number` reads it there where its reading as
photographed doubts a digit, and keeps the reading whose digits it is surer of: the warp
resamples the sheet once more, and a thin line near its edge can break into dashes that the
sheet as photographed (its lines parallel enough for one slope) does not have. A sheet whose
sides are parallel in pairs — level or turned — is left as it is (the levelling straightens a
turn), as is anything not a clear quadrilateral (a sheet running off the picture, a folded
corner).
"""

from __future__ import annotations

import numpy as np
from skimage.measure import approximate_polygon, find_contours
from skimage.transform import ProjectiveTransform, warp

from vaelab.insight.digits.ink import sheet_rim
from vaelab.insight.digits.ruled_lines import firm_lines

CORNER_FIT = 0.02            # × the sheet's mean side: how far its outline may stray off a side
CORNER_SKIP = 0.1            # the share of a side at either end left out of the line fitted to it
STRAIGHT_TURN = 20.0         # degrees: an outline turning less than this at a vertex is straight
SQUARE_FIT = 0.02            # the four corners' quadrilateral holds the sheet's area to this share
MIN_CONVERGENCE = 1.0        # degrees: opposite sides closer to parallel than this are parallel
MIN_CORNER, MAX_CORNER = 45.0, 135.0   # degrees: a corner of a photographed sheet
MIN_SIDE_SHARE = 0.25        # × the mean side: a shorter side is no sheet's (a cut corner)
EDGE_BAND = 2                # × the sheet's rim: the squared sheet's edge band, cleared


def squared_sheet(ink: np.ndarray, sheet: np.ndarray | None
                  ) -> tuple[np.ndarray, ProjectiveTransform] | None:
    """(ink, to_ink): where ``sheet`` (the mask of the sheet in ``ink``, None: the paper fills
    the picture) is a quadrilateral seen in perspective, ``ink`` warped so that the sheet fills a
    rectangle as wide and tall as its opposite sides are long on average, no surround left, and
    the map from the rectangle's (x, y) back to ``ink``'s; otherwise None."""
    if sheet is None:
        return None
    rim = sheet_rim(ink.shape)
    corners = sheet_corners(sheet, rim)
    if corners is None or not _in_perspective(corners):
        return None
    top_left, top_right, bottom_right, bottom_left = corners
    width = round((np.hypot(*(top_right - top_left)) + np.hypot(*(bottom_right - bottom_left))) / 2)
    height = round((np.hypot(*(bottom_left - top_left)) + np.hypot(*(bottom_right - top_right))) / 2)
    rectangle = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], float)
    to_ink = ProjectiveTransform.from_estimate(rectangle, corners)
    if not to_ink:   # (a failed estimation is falsy; four corners of a convex sheet never fail)
        return None
    squared = warp(ink, to_ink, output_shape=(height, width), order=1, cval=0.0,
                   preserve_range=True).astype(ink.dtype)
    # The sheet's edge, its rim left out and resampled, holds what is left of a line along it.
    band = min(EDGE_BAND * rim, (min(height, width) - 1) // 4)
    if band > 0:
        squared[:band] = squared[-band:] = squared[:, :band] = squared[:, -band:] = 0.0
    # A thin line photographed slanted and resampled straight waxes and wanes along its length
    # (dashes above the threshold): each line is made even, as the levelling's shear does.
    return firm_lines(squared, np.zeros(squared.shape, bool)), to_ink


def sheet_corners(sheet: np.ndarray, rim: float = 0.0) -> np.ndarray | None:
    """The sheet's four corners as (x, y), top-left, top-right, bottom-right, bottom-left, its
    sides moved out by the ``rim`` (px) its mask left out; None unless the sheet lies wholly
    inside the picture and its outline is four straight sides (its area within
    :data:`SQUARE_FIT` of theirs, each corner between :data:`MIN_CORNER` and
    :data:`MAX_CORNER` degrees)."""
    if sheet[0].any() or sheet[-1].any() or sheet[:, 0].any() or sheet[:, -1].any():
        return None   # runs off the picture: a corner (or more) unseen
    outlines = find_contours(sheet.astype(np.float32), 0.5)
    if not outlines:
        return None
    outline = max(outlines, key=len)[:, ::-1]                     # (row, col) → (x, y)
    area = float(np.count_nonzero(sheet))
    polygon = approximate_polygon(outline, CORNER_FIT * np.sqrt(area))[:-1]   # (closed: last = first)
    polygon = _without_straight_vertices(polygon)
    if len(polygon) != 4:
        return None
    if abs(_area(polygon) / area - 1) > SQUARE_FIT:
        return None
    corners = np.roll(polygon, -int(np.argmin(polygon.sum(axis=1))), axis=0)   # the top-left first
    (ax, ay), (bx, by) = corners[1] - corners[0], corners[3] - corners[0]
    if ax * by - ay * bx < 0:
        corners = corners[[0, 3, 2, 1]]                          # clockwise on the screen
    angles = [_turn(corners[k - 1], corners[k], corners[(k + 1) % 4]) for k in range(4)]
    if not all(MIN_CORNER <= 180.0 - a <= MAX_CORNER for a in angles):
        return None
    sides = np.hypot(*(np.roll(corners, -1, axis=0) - corners).T)
    if sides.min() < MIN_SIDE_SHARE * sides.mean():   # a triangle's corner cut by the outline
        return None
    return _fitted_corners(outline, corners, rim)


def _fitted_corners(outline: np.ndarray, corners: np.ndarray, rim: float
                    ) -> np.ndarray | None:
    """``corners`` made exact: where the straight lines fitted to each side's outline, moved
    out by the ``rim`` the sheet's mask left out, meet. The simplification's vertices are points
    of the outline, which a corner's rim — rounded by the camera, cut off by leaving the rim out
    — does not reach; a corner a few pixels off, or the rim's band (as wide all round in the
    photo, not on the page), slants the lines of the squared sheet by a pixel across it, and
    they are then no straight run. None where a side has no outline along it to fit, or two
    sides meeting are parallel: no quadrilateral."""
    sides = []
    for k in range(4):
        start, end = corners[k], corners[(k + 1) % 4]
        along = end - start
        length = np.hypot(*along)
        normal = np.array([-along[1], along[0]]) / length     # into the sheet (clockwise)
        offset = outline - start
        t = offset @ along / length ** 2
        near = (np.abs(offset @ normal) <= CORNER_FIT * length) & (t > CORNER_SKIP) & (
            t < 1 - CORNER_SKIP)
        points = outline[near]
        if len(points) < 2:   # a side with no outline along it: no side
            return None
        # (the rim was eroded pixel by pixel, four-connected: max(|nx|, |ny|) px a pixel deep)
        centre = points.mean(axis=0) - normal * rim * np.abs(normal).max()
        direction = np.linalg.svd(points - points.mean(axis=0), full_matrices=False)[2][0]
        sides.append((centre, direction))
    fitted = []
    for k in range(4):   # corner k: where side k − 1 meets side k
        (p, u), (q, v) = sides[k - 1], sides[k]
        determinant = u[0] * -v[1] + v[0] * u[1]
        if abs(determinant) < 1e-9:
            return None
        s = ((q - p)[0] * -v[1] + v[0] * (q - p)[1]) / determinant
        fitted.append(p + s * u)
    fitted = np.array(fitted)
    return fitted if np.abs(fitted - corners).max() <= CORNER_FIT * np.sqrt(
        _area(fitted)) else corners


def _area(polygon: np.ndarray) -> float:
    """A polygon's area (the shoelace formula)."""
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _without_straight_vertices(polygon: np.ndarray) -> np.ndarray:
    """``polygon`` less its vertices where the outline turns by less than
    :data:`STRAIGHT_TURN` degrees: the simplification keeps where the outline happened to start,
    often the middle of a side."""
    changed = True
    while changed and len(polygon) > 3:
        turns = [_turn(polygon[k - 1], polygon[k], polygon[(k + 1) % len(polygon)])
                 for k in range(len(polygon))]
        k = int(np.argmin(turns))
        changed = turns[k] < STRAIGHT_TURN
        if changed:
            polygon = np.delete(polygon, k, axis=0)
    return polygon


def _turn(before: np.ndarray, at: np.ndarray, after: np.ndarray) -> float:
    """Degrees the outline turns at ``at`` (0: straight on)."""
    return _angle(at - before, after - at)


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    """Degrees between the directions of vectors ``a`` and ``b``."""
    cosine = np.dot(a, b) / max(np.hypot(*a) * np.hypot(*b), 1e-12)
    return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))


def _in_perspective(corners: np.ndarray) -> bool:
    """Whether a pair of opposite sides is :data:`MIN_CONVERGENCE` degrees or more from
    parallel: a sheet photographed level or turned is a rectangle, sheared a parallelogram."""
    top, right, bottom, left = (corners[(k + 1) % 4] - corners[k] for k in range(4))
    return any(_angle(a, -b) >= MIN_CONVERGENCE for a, b in ((top, bottom), (right, left)))
