"""The benchmark catalog as data (one folder per benchmark with ``benchmark.yaml``),
plus demo-data generators and importers for real dataset layouts. No Django."""
