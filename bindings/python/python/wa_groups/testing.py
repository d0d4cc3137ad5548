"""Test helpers: an in-process emulator of the Graph API's join request
endpoints, for your own test suites.

::

    from wa_groups import Client
    from wa_groups.testing import Emulator

    def test_approve_everything():
        with Emulator() as emu:
            group = emu.create_group()
            ids = emu.add_join_requests(group, 3)
            with Client(emu.access_token, base_url=emu.base_url) as client:
                assert client.approve_all(group).approved == ids
            assert emu.pending_join_requests(group) == []

The emulator is the Rust ``wa-groups-emulator`` crate, running on the
package's runtime and listening on 127.0.0.1. ``inject_fault`` and
``set_rate_limit`` make it misbehave the ways the real API does.
"""

from ._native import Emulator

__all__ = ["Emulator"]
