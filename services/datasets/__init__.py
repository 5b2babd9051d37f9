"""Uploaded logo datasets: readers for the Hugging Face layouts, and the all-or-nothing importer."""
