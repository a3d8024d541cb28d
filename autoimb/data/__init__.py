"""The data: input checks and column typing, preprocessing, reading files, shipped data sets."""
