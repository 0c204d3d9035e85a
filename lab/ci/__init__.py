"""The GitHub workflow's plan: which jobs judge which cells (a target, a stable
shard of the tutorials, the tutorials a change touched first), the cache key of
each job, and every cell the merge must find (lab.verdicts.expected)."""
