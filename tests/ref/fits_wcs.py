"""FITS images with a full observation header, and the astropy check that a
FITS output of `tessera image` keeps the input's world coordinates, for
tests/image.rs (astropy from scripts/survey-venv.sh).

usage:
  fits_wcs.py make OUT_DIR
      OUT_DIR/wcs.fits      45 x 52 float32 primary image (seeded random
                            pixels) with a TAN-SIP WCS (CD matrix, A/B
                            polynomials), an alternate linear WCS 'A',
                            RADESYS, EQUINOX, LONPOLE, LATPOLE, DATE-OBS,
                            MJD-OBS, OBJECT, TELESCOP, INSTRUME, FILTER,
                            EXPTIME, BUNIT, LTV1/LTV2, DATASEC, DATAMIN/DATAMAX,
                            HISTORY and CHECKSUM/DATASUM
      OUT_DIR/wcs-gz.fits   the same pixels and cards as a lossless GZIP_2
                            CompImageHDU (HDU 1)
      OUT_DIR/wcs-ext.fits  an empty primary, a table 'CAT', then the same
                            image as IMAGE extension 'SCI' (HDU 2)
  fits_wcs.py check IN.fits IN_HDU OUT.fits ROW_OFF COL_OFF
      Exits 1 unless, at the output's corners, centre and a few more
      pixels, astropy.wcs.WCS(out header) gives the world coordinates that
      WCS(in header) gives at input pixel (row + ROW_OFF, col + COL_OFF),
      to 1e-9 degrees (SIP distortion included, alternate WCS 'A' too), and
      the output's data shape is what NAXIS says. Prints the largest
      difference.
"""

import sys
import warnings

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

CARDS = [
    ("CTYPE1", "RA---TAN-SIP"), ("CTYPE2", "DEC--TAN-SIP"),
    ("CRPIX1", 20.5), ("CRPIX2", 18.25),
    ("CRVAL1", 150.1123), ("CRVAL2", 2.20456),
    ("CD1_1", -2.7e-4), ("CD1_2", 3.1e-6), ("CD2_1", 2.9e-6), ("CD2_2", 2.8e-4),
    ("CUNIT1", "deg"), ("CUNIT2", "deg"),
    ("A_ORDER", 2), ("A_0_2", 2.1e-6), ("A_1_1", -1.3e-6), ("A_2_0", 4.0e-7),
    ("B_ORDER", 2), ("B_0_2", -7.0e-7), ("B_1_1", 1.9e-6), ("B_2_0", 3.3e-6),
    ("RADESYS", "ICRS"), ("EQUINOX", 2000.0), ("LONPOLE", 180.0), ("LATPOLE", 2.20456),
    ("WCSNAMEA", "PHYSICAL"), ("CTYPE1A", "X"), ("CTYPE2A", "Y"),
    ("CRPIX1A", 1.0), ("CRPIX2A", 1.0), ("CRVAL1A", 101.0), ("CRVAL2A", 51.0),
    ("CDELT1A", 1.0), ("CDELT2A", 1.0),
    ("LTV1", -100.0), ("LTV2", -50.0), ("LTM1_1", 1.0), ("LTM2_2", 1.0),
    ("DATASEC", "[1:52,1:45]"),
    ("DATE-OBS", "2026-03-14T05:06:07.5"), ("MJD-OBS", 61113.2126),
    ("OBJECT", "COSMOS field 7"), ("TELESCOP", "Rubin"), ("INSTRUME", "LSSTCam"),
    ("FILTER", "r"), ("EXPTIME", 30.0), ("BUNIT", "nJy"),
    ("DATAMIN", -4.0), ("DATAMAX", 4.0),
]


def image():
    rng = np.random.default_rng(20261201)
    return rng.normal(size=(45, 52)).astype(np.float32)


def header(h):
    for k, v in CARDS:
        h[k] = v
    h["HISTORY"] = "calibrated by a made-up pipeline"
    return h


def make(out):
    data = image()
    prim = fits.PrimaryHDU(data)
    header(prim.header)
    fits.HDUList([prim]).writeto(f"{out}/wcs.fits", overwrite=True, checksum=True)
    comp = fits.CompImageHDU(data, compression_type="GZIP_2", quantize_level=0.0,
                             tile_shape=(8, 16))
    header(comp.header)
    fits.HDUList([fits.PrimaryHDU(), comp]).writeto(f"{out}/wcs-gz.fits", overwrite=True)
    sci = fits.ImageHDU(data, name="SCI")
    header(sci.header)
    cat = fits.BinTableHDU.from_columns([fits.Column(name="X", format="D", array=[1.0])],
                                        name="CAT")
    fits.HDUList([fits.PrimaryHDU(), cat, sci]).writeto(f"{out}/wcs-ext.fits", overwrite=True)
    for name, hdu in (("wcs-gz.fits", 1), ("wcs-ext.fits", 2)):
        with fits.open(f"{out}/{name}") as h:
            assert np.array_equal(h[hdu].data, data), name


def without_sip(h):
    h = h.copy()
    for k in list(h.keys()):
        if k.split("_")[0] in ("A", "B", "AP", "BP") and "_" in k:
            del h[k]
    return h


def check(inp, in_hdu, out, row_off, col_off):
    with fits.open(inp) as h:
        hin = h[in_hdu].header
    with fits.open(out) as h:
        hout = h[0].header
        shape = h[0].data.shape
    assert shape == (hout["NAXIS2"], hout["NAXIS1"]), (shape, hout["NAXIS2"], hout["NAXIS1"])
    worst = 0.0
    rows, cols = shape
    pix = [(0, 0), (0, cols - 1), (rows - 1, 0), (rows - 1, cols - 1),
           (rows // 2, cols // 2), (rows // 3, 2 * cols // 3), (1, 2)]
    for key in (" ", "A"):
        hi, ho = hin, hout
        if key == "A":
            # SIP belongs to the primary WCS; astropy would attach it to 'A' too
            hi, ho = without_sip(hin), without_sip(hout)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            win = WCS(hi, key=key)
            wout = WCS(ho, key=key)
        if key == " ":
            assert wout.sip is not None, "SIP lost"
        for r, c in pix:
            a = np.array(wout.pixel_to_world_values(c, r))
            b = np.array(win.pixel_to_world_values(c + col_off, r + row_off))
            d = float(np.max(np.abs(a - b)))
            worst = max(worst, d)
            if not d <= 1e-9:
                print(f"WCS '{key}' at output pixel (row {r}, col {c}): {a} vs input {b}")
                sys.exit(1)
    print(f"max world-coordinate difference {worst:.3e} deg over {len(pix)} pixels x 2 WCS")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        check(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
