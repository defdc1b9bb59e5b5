"""Case studies: reproducible studies that run the public command line and write a page under docs/case-studies/."""
