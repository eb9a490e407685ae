"""Waiting for a request's messages through jupyter_client: every reply matched to its request by parent msg_id,
every wait a deadline. Shared by kernel_protocol.py and widget_protocol.py."""
import queue
import time

TIMEOUT = 60


def shell_reply(kc, msg_id, timeout=TIMEOUT):
    """The shell reply to request msg_id; replies to earlier requests (wait_for_ready's kernel_info) are skipped."""
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            raise AssertionError(f"no shell reply to {msg_id} within {timeout} s")
        msg = kc.get_shell_msg(timeout=left)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


def iopub_until(kc, msg_id, done, timeout=TIMEOUT):
    """IOPub messages of request msg_id until done(msg) holds; fails at the deadline."""
    deadline = time.time() + timeout
    seen = []
    while True:
        left = deadline - time.time()
        if left <= 0:
            raise AssertionError(f"condition not met within {timeout} s; got {[m['msg_type'] for m in seen]}")
        try:
            msg = kc.get_iopub_msg(timeout=min(left, 1))
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        seen.append(msg)
        if done(msg):
            return seen
