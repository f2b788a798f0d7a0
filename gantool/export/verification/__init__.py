"""Verification of exported files, one verb: a file is *verified* against its reference (PyTorch
eager at atol, or the file it was made from by the gates). checks: the numbers for one file;
results: what a check returns and the report (verification.json); recheck: `gantool verify` of an
export directory; archive: the structural check of .pt2 archives before torch loads them.
"""
