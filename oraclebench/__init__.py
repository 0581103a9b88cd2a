"""oraclebench: scores language models on procedurally generated tasks with exact oracles."""
