"""A small OpenAI-compatible Chat Completions server for end-to-end tests.

POST /v1/chat/completions answers a canned completion that echoes the last user
message, with fixed usage; with "stream": true it answers server-sent events
(content pieces, then a usage chunk when stream_options.include_usage is set,
then [DONE]). Every request it receives is kept (headers and JSON body) so a
test can check what tollgate sent upstream.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROMPT_TOKENS = 11
COMPLETION_TOKENS = 7
STREAM_PIECES = ["Echo", ": ", "streamed", " reply"]


class FakeOpenAi:
    def __init__(self):
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if self.path != "/v1/chat/completions":
                    self.send_json(404, {"error": {"message": "not found"}})
                    return
                if body.get("stream"):
                    self.send_stream(body)
                else:
                    last = [m for m in body.get("messages", []) if m.get("role") == "user"][-1]["content"]
                    if isinstance(last, list):
                        last = "".join(part.get("text", "") for part in last)
                    self.send_json(200, {
                        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body.get("model"),
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": f"Echo: {last}"},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                                  "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}})

            def send_json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def send_stream(self, body):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

                def chunk(payload: str):
                    data = f"data: {payload}\n\n".encode()
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()

                for i, piece in enumerate(STREAM_PIECES):
                    delta = {"content": piece} if i else {"role": "assistant", "content": piece}
                    chunk(json.dumps({"id": "c", "object": "chat.completion.chunk", "model": body.get("model"),
                                      "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}))
                chunk(json.dumps({"id": "c", "object": "chat.completion.chunk",
                                  "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
                if body.get("stream_options", {}).get("include_usage"):
                    chunk(json.dumps({"id": "c", "object": "chat.completion.chunk", "choices": [],
                                      "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": len(STREAM_PIECES),
                                                "total_tokens": PROMPT_TOKENS + len(STREAM_PIECES)}}))
                chunk("[DONE]")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeOpenAi":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
