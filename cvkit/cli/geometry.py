"""``cvkit geometry``: two-view geometry from the course's recap (``homography SRC DST``)."""

from __future__ import annotations

from pathlib import Path

import typer

from cvkit.cli.app import app

geometry_app = typer.Typer(help="Two-view geometry: homographies, warping and stitching.", no_args_is_help=True)
app.add_typer(geometry_app, name="geometry")


@geometry_app.command("homography")
def homography_cmd(
    src: Path = typer.Argument(..., help="Source image, or a point file (x y per line, or a JSON list of [x, y]).",
                               show_default=False),
    dst: Path = typer.Argument(..., help="Destination image, or a point file matching SRC's points line by line.",
                               show_default=False),
    features: str = typer.Option("orb", help="Keypoints and descriptors for images: orb or sift."),
    ratio: float = typer.Option(0.75, min=0.0, max=1.0, help="Lowe's ratio test for matches."),
    threshold: float = typer.Option(3.0, min=0.0, help="RANSAC inlier threshold: reprojection error in pixels."),
    max_iters: int = typer.Option(2000, min=1, help="Most RANSAC iterations."),
    confidence: float = typer.Option(0.995, min=0.0, max=1.0, help="RANSAC stops when this sure of its best."),
    seed: int = typer.Option(0, help="Seed of RANSAC's samples."),
    out: Path = typer.Option(None, help="Folder for matches.png, warped.png and stitched.png (images only).",
                             show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print H, the inliers and the matches as one JSON document."),
) -> None:
    """Estimate the homography DST ~ H SRC (normalised DLT inside RANSAC) and print it."""
    from cvkit.geometry.command import run_homography

    doc = run_homography(src, dst, features, ratio, threshold, max_iters, confidence, seed, out)
    if as_json:
        from cvkit.cli.common import print_json

        print_json(doc)
        return
    typer.echo(f"{doc['num_inliers']} inliers of {doc['num_matches']} correspondences "
               f"(mean inlier error {doc['mean_inlier_error']:.3f} px)")
    for row in doc["H"]:
        typer.echo("  " + "  ".join(f"{v: .8g}" for v in row))
    for p in doc["files"]:
        typer.echo(p)
