"""Study persistence: where and how a search's trials are stored, safely (issue 5, issue 15).

The search domain (:mod:`llmhw.search`) decides *what* to try and how to judge it; this package
keeps the results:

- ``storage``: storage URLs, batched durable writes and fast reads of finished trials;
- ``opening``: load or create a stored study, refuse a resume with different inputs;
- ``journal``: the append-only journal file that ``--jobs N`` processes share on SQLite;
- ``lock``: one writer per SQLite study (a lock file next to the database);
- ``signals``: Ctrl-C / SIGTERM finish the batch in flight, then stop;
- ``workers``: the ``--jobs N`` process pool;
- ``guard``: storage faults (full disk, locked or damaged database) → one line and exit 2.
"""
