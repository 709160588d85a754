#!/usr/bin/env python3
"""Sends realistic traces to Pharos with the official OpenTelemetry Python SDK.

Two services (frontend, cart) with their own resources and tracer providers, like two
pods: an HTTP server span -> a client span -> the cart's server span -> DB spans with
db.statement, an error span with an exception event, a span with a link, attributes of
every type. Exports over OTLP/HTTP protobuf (optionally gzip) and prints one JSON
object describing what was sent, for the Rust test to check against the query APIs.

Usage: send_traces.py <endpoint> <token> <traces> [gzip]
"""
import json
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode


def provider(endpoint, token, service, compression):
    exporter = OTLPSpanExporter(
        endpoint=endpoint + "/v1/traces",
        headers={"Authorization": "Bearer " + token},
        compression=compression,
        timeout=30,
    )
    p = TracerProvider(resource=Resource.create({
        "service.name": service,
        "service.version": "2.1.0",
        "k8s.namespace.name": "shop",
        "deployment.environment": "test",
    }))
    p.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=64, schedule_delay_millis=200))
    return p


def main():
    endpoint, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    compression = Compression.Gzip if len(sys.argv) > 4 and sys.argv[4] == "gzip" else Compression.NoCompression
    front_p = provider(endpoint, token, "py-frontend", compression)
    cart_p = provider(endpoint, token, "py-cart", compression)
    front = front_p.get_tracer("shop.frontend", "1.0.0")
    cart = cart_p.get_tracer("shop.cart", "1.0.0")
    sent = []
    previous = None
    for i in range(n):
        failing = i % 4 == 3
        with front.start_as_current_span("GET /api/cart", kind=SpanKind.SERVER, attributes={
            "http.request.method": "GET",
            "http.route": "/api/cart",
            "http.response.status_code": 500 if failing else 200,
            "url.path": "/api/cart?i=%d" % i,
            "sampled.ratio": 0.5,
            "retry": False,
            "tags.list": ["a", "b"],
            "ids.list": [1, 2, 3],
        }) as root:
            ctx = root.get_span_context()
            with front.start_as_current_span("cart.GetCart", kind=SpanKind.CLIENT, attributes={"rpc.system": "grpc"}) as client:
                with cart.start_as_current_span("cart.CartService/GetCart", kind=SpanKind.SERVER,
                                                context=trace.set_span_in_context(client)) as server:
                    with cart.start_as_current_span("SELECT shop.cart_items", kind=SpanKind.CLIENT, attributes={
                        "db.system": "postgresql",
                        "db.statement": "SELECT id, qty FROM cart_items WHERE cart_id = $1",
                        "db.namespace": "shop",
                    }):
                        pass
                    with cart.start_as_current_span("GET", kind=SpanKind.CLIENT, attributes={
                        "db.system": "redis", "db.statement": "GET cart:%d" % i,
                    }) as cache:
                        if failing:
                            try:
                                raise ConnectionResetError("connection reset by peer")
                            except ConnectionResetError as e:
                                cache.record_exception(e)
                                cache.set_status(Status(StatusCode.ERROR, "connection reset by peer"))
                    server.add_event("cart loaded", {"items": 3, "cached": True})
            links = [Link(previous, {"link.reason": "previous request"})] if previous else []
            with front.start_as_current_span("render page", links=links, attributes={"template": "cart.html"}):
                pass
            if failing:
                root.set_status(Status(StatusCode.ERROR, "upstream failed"))
            previous = ctx
            sent.append({
                "trace_id": format(ctx.trace_id, "032x"),
                "root_span_id": format(ctx.span_id, "016x"),
                "failing": failing,
                "linked_to": sent[-1]["root_span_id"] if sent else None,
            })
    ok = front_p.force_flush(30000) and cart_p.force_flush(30000)
    front_p.shutdown()
    cart_p.shutdown()
    print(json.dumps({"flushed": ok, "traces": sent}))


if __name__ == "__main__":
    main()
