"""Sign-in with ATProto: the pages and endpoints (``routes``), the flow (``flow``), where people land (``returns``)."""
