"""Stream processors (faust-streaming): enrich, stitch identities, keep journeys, credit conversions."""
