"""A smart plug for the tests: a real HTTP server on 127.0.0.1 (http.server, in a thread) that
answers as the plugs edgebench's presets poll.

- Shelly Gen2 RPC `GET /rpc/Switch.GetStatus?id=0`: the switch's status, `apower` its active power
  in W beside voltage, current, freq, aenergy and temperature (Shelly's Gen2 API documentation,
  shelly-api-docs.shelly.cloud, Switch component; the fields as the shelly-core crate's
  Gen2SwitchStatus reads them).
- Tasmota `GET /cm?cmnd=Status%208`: `{"StatusSNS": {"Time": ..., "ENERGY": {"Power": W, ...}}}`
  (Tasmota's docs, JSON Status Responses and Commands: Status 8 is the sensors' status).
- `GET /custom`: {"meter": {"watts": W}} for a url and dotted field of one's own.

`watts` is the reading (a number, or a function called per request); `mode` makes it misbehave:
"html" (not JSON), "no-field" (JSON without the reading), "text" (the reading a string that is no
number), "error" (HTTP 500), "slow" (answers after `delay_s`).
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakePlug:
    """A running fake plug while entered: `url` is its address, `requests` counts what it answered."""

    def __init__(self, watts=12.5, mode="ok", delay_s=5.0):
        self.watts = watts
        self.mode = mode
        self.delay_s = delay_s
        self.requests = 0
        self._server = None
        self._thread = None
        self._stop = threading.Event()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def reading(self) -> float:
        return self.watts() if callable(self.watts) else self.watts

    def reply(self, path: str):
        """Return (status, body) for a request path, as the plug (in its mode) would answer."""
        watts = self.reading()
        if self.mode == "error":
            return 500, b"internal error"
        if self.mode == "html":
            return 200, b"<html><body>Shelly</body></html>"
        shown = "twelve" if self.mode == "text" else watts
        if path.startswith("/rpc/Switch.GetStatus"):
            status = {"id": 0, "source": "init", "output": True, "apower": shown, "voltage": 231.4, "freq": 50.0,
                      "current": round(watts / 231.4, 3), "aenergy": {"total": 1523.2, "by_minute": [210.6, 208.9, 211.0],
                                                                       "minute_ts": 1767225600},
                      "temperature": {"tC": 38.2, "tF": 100.8}}
            if self.mode == "no-field":
                del status["apower"]
            return 200, json.dumps(status).encode()
        if path.startswith("/cm?cmnd=Status%208"):
            energy = {"TotalStartTime": "2026-01-01T00:00:00", "Total": 12.345, "Yesterday": 0.321, "Today": 0.123,
                      "Power": shown, "ApparentPower": 15, "ReactivePower": 6, "Factor": 0.93, "Voltage": 231,
                      "Current": 0.061}
            if self.mode == "no-field":
                del energy["Power"]
            return 200, json.dumps({"StatusSNS": {"Time": "2026-01-01T12:00:00", "ENERGY": energy}}).encode()
        if path.startswith("/custom"):
            meter = {} if self.mode == "no-field" else {"watts": shown}
            return 200, json.dumps({"meter": meter}).encode()
        return 404, b"not found"

    def __enter__(self) -> "FakePlug":
        plug = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                plug.requests += 1
                if plug.mode == "slow":
                    plug._stop.wait(plug.delay_s)
                status, body = plug.reply(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        return False
