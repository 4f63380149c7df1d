"""Fault injection from the test set: commands put straight onto a satellite's bus.

A fault injection is not something ground control could uplink — it is the test engineer
reaching into the rig. This module connects to a satellite's software bus like an app would,
proves its connection live, publishes a SIM (hardware) or app command with the test set's own
source ID, and waits for the command's completion report on the bus.
"""

from __future__ import annotations

import asyncio
from typing import Any

import zmq

from common import bus
from common.dictionary import DICTIONARY
from common.dictionary.standard import request_of
from common.framing import iter_frames
from common.packets import AckFlags, TcPacket, TmPacket, decode, encode_tc
from common.runconfig import RunConfig
from common.runtime import Runtime
from common.sequence import SequenceCounter
from common.zmqloop import drain

#: Source ID of the test set (ground control is 1).
TEST_SET_ID = 2
_sequences = SequenceCounter()


class InjectionFailed(RuntimeError):
    """The command was refused or not answered."""


async def inject(run: RunConfig, satellite: str, command: str, wall_timeout: float = 20.0,
                 **args: Any) -> None:
    """Execute ``command`` (e.g. ``SIM.DEGRADE_RADIATOR``) on ``satellite``'s bus now."""
    definition = DICTIONARY.command(command)
    runtime = Runtime(run)
    publisher = bus.Publisher(runtime.context, runtime.endpoints.bus_in(satellite))
    subscriber = bus.Subscriber(runtime.context, runtime.endpoints.bus_out(satellite))
    subscriber.subscribe(bus.topic(satellite, bus.TM, definition.apid))
    try:
        held: list[list[bytes]] = []
        await bus.prove_live(publisher, subscriber, satellite, f"TESTSET{id(held) % 1000}",
                             wall_timeout, held)
        seq = _sequences.next(definition.apid)
        tc = TcPacket(definition.apid, definition.service, definition.subtype,
                      DICTIONARY.command_app_data(definition, args), seq, TEST_SET_ID,
                      AckFlags.ALL)
        publisher.send(bus.topic(satellite, bus.TC, definition.apid), encode_tc(tc))
        publisher.flush()
        outcome = await asyncio.wait_for(_outcome(subscriber, tc), wall_timeout)
        if outcome != 7:
            raise InjectionFailed(f"{command} on {satellite} failed (TM[1,{outcome}])")
    finally:
        publisher.close()
        subscriber.close()
        runtime.context.destroy(0)


async def _outcome(subscriber: bus.Subscriber, tc: TcPacket) -> int:
    poller = zmq.Poller()
    poller.register(subscriber.socket, zmq.POLLIN)
    while True:
        if not poller.poll(0):
            await asyncio.sleep(0.01)
            continue
        for _topic, payload in drain(subscriber.socket):
            for framed in iter_frames(payload):
                packet = decode(framed.data)
                if not isinstance(packet, TmPacket) or packet.service != 1:
                    continue
                if packet.dest_id != TEST_SET_ID or packet.subtype not in (2, 4, 7, 8):
                    continue
                values = DICTIONARY.decode_tm(packet).values
                if request_of(values["packet_id"], values["sequence"]) == tc.request_id:
                    return packet.subtype
