"""Call queues and agents (an ACD built on ARI, not on Asterisk's app_queue).

* :mod:`.model`: what a queue is (pure data, from ``ivr/queues.toml`` via :mod:`.loader`);
* :mod:`.acd`: the sans-I/O distributor: waiting callers, agents, offers, today's figures;
* :mod:`.views`: frozen snapshots for the REST API and the CLI;
* :mod:`.service`: the I/O shell around the ACD in the worker (timers, calls, the store).
"""
