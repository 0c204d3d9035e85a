"""Pure logic that judges a run: outcomes, expectations, causes, kernel health,
verdicts and reports. Nothing here starts a process, so it is unit-tested in
milliseconds."""
