"""Reading provider deliveries: recognising the kind, reading CSV and JW307 XML, quarantine."""
