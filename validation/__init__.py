"""Independent validation of the toolkit's numbers (see ``python -m validation``)."""
