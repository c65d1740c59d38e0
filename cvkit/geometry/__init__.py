"""Two-view geometry from the course's recap: homographies by normalised DLT inside RANSAC, feature matching,
warping and stitching. Torch-free (numpy and OpenCV)."""

from cvkit.geometry.homography import dlt_homography, normalize_points, ransac_homography, reprojection_errors
from cvkit.geometry.matching import match_features
from cvkit.geometry.warp import draw_matches, stitch, warp_into

__all__ = ["dlt_homography", "normalize_points", "ransac_homography", "reprojection_errors", "match_features",
           "draw_matches", "stitch", "warp_into"]
