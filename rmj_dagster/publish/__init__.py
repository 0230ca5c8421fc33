"""Writing what leaves the warehouse: CBS extract files, CEO indicators CSV and plotly report."""
