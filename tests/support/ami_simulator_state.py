"""The simulated PBX's channel table, kept from the replayed events, and the answers
Asterisk 22 gives from it (``Status``, ``CoreShowChannels``, ``Getvar``) in the shape
of the captured ones."""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.ami.message import Message

SNAPSHOT = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
)


@dataclass
class SimChannel:
    uid: str
    created: float
    dnid: str
    snapshot: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    application: str = ""
    data: str = ""
    bridge: str = ""

    def headers(self) -> list[tuple[str, str]]:
        return [(key, self.snapshot.get(key, "")) for key in SNAPSHOT]


def _hms(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


class PBXState:
    def __init__(self) -> None:
        self.channels: dict[str, SimChannel] = {}

    def apply(self, m: Message, t: float) -> None:
        event = m.event
        uid = m.get("uniqueid") or ""
        if event == "Newchannel":
            self.channels[uid] = SimChannel(uid, t, m.get("exten") or "")
        channel = self.channels.get(uid)
        if channel is None:
            return
        if event == "Hangup":
            del self.channels[uid]
            return
        if m.get("channelstate") is not None and m.get("channel"):
            for key in SNAPSHOT:
                value = m.get(key)
                if value is not None:
                    channel.snapshot[key] = value
        if event == "VarSet":
            channel.variables[m.get("variable") or ""] = m.get("value") or ""
        elif event == "Newexten":
            channel.application = m.get("application") or ""
            channel.data = m.get("appdata") or ""
        elif event == "BridgeEnter":
            channel.bridge = m.get("bridgeuniqueid") or ""
        elif event == "BridgeLeave":
            channel.bridge = ""

    def variable(self, uid: str, name: str) -> str:
        channel = self.channels.get(uid)
        return "" if channel is None else channel.variables.get(name, "")

    def by_name(self, name: str) -> str | None:
        for uid, channel in self.channels.items():
            if channel.snapshot.get("Channel") == name:
                return uid
        return None

    def _chosen(self, action: Message) -> list[SimChannel] | None:
        wanted = action.get("channel")
        if wanted:
            uid = self.by_name(wanted)
            return None if uid is None else [self.channels[uid]]
        return list(reversed(self.channels.values()))

    def list_reply(self, name: str, action: Message, action_id: str, now: float) -> bytes:
        channels = self._chosen(action)
        if channels is None:
            return bytes(
                Message(
                    [("Response", "Error"), ("ActionID", action_id), ("Message", "No such channel")]
                )
            )
        if name == "status":
            start = "Channel status will follow"
            items = [self._status(c, action, action_id, now) for c in channels]
            done = [("Event", "StatusComplete"), ("ActionID", action_id), ("EventList", "Complete")]
            done += [("ListItems", str(len(items))), ("Items", str(len(items)))]
        else:
            start = "Channels will follow"
            items = [self._show(c, action_id, now) for c in channels]
            done = [("Event", "CoreShowChannelsComplete"), ("ActionID", action_id)]
            done += [("EventList", "Complete"), ("ListItems", str(len(items)))]
        response = Message(
            [
                ("Response", "Success"),
                ("ActionID", action_id),
                ("EventList", "start"),
                ("Message", start),
            ]
        )
        return b"".join(bytes(m) for m in (response, *items, Message(done)))

    def _status(self, c: SimChannel, action: Message, action_id: str, now: float) -> Message:
        headers = [("Event", "Status"), ("Privilege", "Call"), *c.headers()]
        headers += [
            ("Type", "PJSIP"),
            ("DNID", c.dnid if c.snapshot.get("Context") == "hotline" else ""),
            ("EffectiveConnectedLineNum", c.snapshot.get("ConnectedLineNum", "")),
            ("EffectiveConnectedLineName", c.snapshot.get("ConnectedLineName", "")),
            ("TimeToHangup", "0"),
            ("BridgeID", c.bridge),
            ("Application", c.application),
            ("Data", c.data),
            ("Nativeformats", "(ulaw)"),
            ("Readformat", "ulaw"),
            ("Readtrans", ""),
            ("Writeformat", "ulaw"),
            ("Writetrans", ""),
            ("Callgroup", "0"),
            ("Pickupgroup", "0"),
            ("Seconds", str(int(now - c.created))),
        ]
        for name in filter(None, (action.get("variables") or "").split(",")):
            headers.append(("Variable", f"{name}={c.variables.get(name) or '(null)'}"))
        headers.append(("ActionID", action_id))
        return Message(headers)

    def _show(self, c: SimChannel, action_id: str, now: float) -> Message:
        headers = [("Event", "CoreShowChannel"), ("ActionID", action_id), *c.headers()]
        headers += [
            ("Application", c.application),
            ("ApplicationData", c.data),
            ("Duration", _hms(now - c.created)),
            ("BridgeId", c.bridge),
        ]
        return Message(headers)

    def getvar_reply(self, action: Message, action_id: str) -> bytes:
        name = action.get("variable") or ""
        channels = self._chosen(action)
        if action.get("channel") and not channels:
            fields = [
                ("Response", "Error"),
                ("ActionID", action_id),
                ("Message", "No such channel"),
            ]
            return bytes(Message(fields))
        value = channels[0].variables.get(name, "") if action.get("channel") and channels else ""
        fields = [("Response", "Success"), ("ActionID", action_id)]
        return bytes(Message([*fields, ("Variable", name), ("Value", value)]))

    def mixmonitor_events(self, uid: str, path: str) -> list[Message]:
        """What MixMonitor emits when it starts on ``uid``: the file name, then the start."""
        channel = self.channels[uid]
        varset = [("Event", "VarSet"), ("Privilege", "dialplan,all"), *channel.headers()]
        varset += [("Variable", "MIXMONITOR_FILENAME"), ("Value", path)]
        start = [("Event", "MixMonitorStart"), ("Privilege", "call,all"), *channel.headers()]
        return [Message(varset), Message(start)]
