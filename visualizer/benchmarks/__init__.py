"""What `gansmania bench` runs, and nothing else: one module per part of its table, named by
the part (``generator``, ``audio``, ``live``), ``suite`` runs them all into the one table, and
``report`` prints that table and writes its JSON (the report every benchmark under the
repository's ``bench/`` writes too). The other benchmarks and their rigs live in ``bench/``."""
