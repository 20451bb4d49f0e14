"""A finished Reply is freed: the soak's kiosk memory creep (one Reply and its JSON a request).

`QMetaMethod.fromSignal(reply.finished)` kept every reply alive in PySide6 6.11, and with
it the decoded answer: about 1 MiB per 100 tickets on a kiosk that never restarts.
"""

from __future__ import annotations

import gc
import weakref

from ui.client.branch import Reply


def test_finished_replies_are_freed(qapp):
    pending: set[Reply] = set()
    refs = []
    for i in range(20):
        reply = Reply("issue_ticket", f"key-{i}")
        if i % 2:
            # As BranchClient does: a slot whose closure holds the reply itself.
            pending.add(reply)
            reply.finished.connect(lambda *_, r=reply: pending.discard(r))
            reply.then(lambda data, error: None)
        reply._resolve({"number": f"A{i:03d}", "big": "x" * 10_000}, None)
        refs.append(weakref.ref(reply))
    del reply
    qapp.processEvents()
    gc.collect()
    assert pending == set()
    assert [r for r in refs if r() is not None] == []


def test_a_slot_added_after_the_end_still_hears_the_answer(qapp):
    reply = Reply("identify")
    reply._resolve({"priority": "care"}, None)
    heard = []
    reply.then(lambda data, error: heard.append((data, error)))
    assert heard == [({"priority": "care"}, None)]
