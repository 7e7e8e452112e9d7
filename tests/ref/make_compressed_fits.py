"""Writes tile-compressed and multi-HDU copies of FITS images, with astropy,
for tests/image.rs: each holds exactly the pixels of its source, so tessera
must give a bit-identical /convolved from it.

usage: make_compressed_fits.py F64.fits I16.fits OUT_DIR

OUT_DIR/
  gzip-f64.fits   F64's pixels as a GZIP_2 CompImageHDU, no quantisation (lossless)
  rice-i16.fits   I16's pixels as a RICE_1 CompImageHDU (lossless for integers)
  multi.fits      a 3 x 3 primary image, a table HDU 'CAT', then F64's pixels as
                  IMAGE extension 'SCI' (HDU 2) with WCS cards
"""

import os
import sys

import numpy as np
from astropy.io import fits


def main(f64_path, i16_path, out):
    os.makedirs(out, exist_ok=True)
    f64 = fits.getdata(f64_path).astype(np.float64)
    i16 = fits.getdata(i16_path)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(
        f64, compression_type="GZIP_2", quantize_level=0.0, tile_shape=(8, 16))]).writeto(
        os.path.join(out, "gzip-f64.fits"), overwrite=True)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(
        i16, compression_type="RICE_1", tile_shape=(1, i16.shape[1]))]).writeto(
        os.path.join(out, "rice-i16.fits"), overwrite=True)
    sci = fits.ImageHDU(f64, name="SCI")
    for k, v in (("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CRPIX1", 10.0),
                 ("CRPIX2", 12.0), ("CRVAL1", 150.1), ("CRVAL2", 2.2),
                 ("CDELT1", -2.8e-4), ("CDELT2", 2.8e-4)):
        sci.header[k] = v
    cat = fits.BinTableHDU.from_columns([fits.Column(name="X", format="D", array=[1.0, 2.0])],
                                        name="CAT")
    fits.HDUList([fits.PrimaryHDU(np.ones((3, 3))), cat, sci]).writeto(
        os.path.join(out, "multi.fits"), overwrite=True)
    # the copies hold the same pixels
    with fits.open(os.path.join(out, "gzip-f64.fits")) as h:
        assert np.array_equal(h[1].data, f64)
    with fits.open(os.path.join(out, "rice-i16.fits")) as h:
        assert np.array_equal(h[1].data, i16)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
