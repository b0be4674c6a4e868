"""Batch ingestion: files -> pages -> chunks -> vectors -> a collection."""
