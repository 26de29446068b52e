"""The sandbox's callbacks: status callbacks for each accepted message, in Kaleyra's v2 format,
and the payment updates queued by a pay request, posted to `callback_url` by worker threads
(Callbacks, a part of KaleyraSandbox)."""

import time
import uuid

import requests


class Callbacks:
    """KaleyraSandbox's callback posting (its queue and threads live in KaleyraSandbox)."""

    def callback_body(self, record, status) -> dict:
        digits = record["to"].lstrip("+")
        status_object = {
            "id": record["wamid"],
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": digits,
        }
        if status in ("sent", "delivered"):
            status_object["conversation"] = {
                "id": uuid.uuid4().hex,
                "origin": {"type": "marketing"},
            }
            status_object["pricing"] = {
                "billable": True,
                "pricing_model": "CBP",
                "category": "marketing",
            }
        if status == "failed":
            status_object["errors"] = [
                {
                    "code": 131026,
                    "title": "Message undeliverable",
                    "message": "Message undeliverable",
                    "error_data": {"details": "The recipient is not on WhatsApp."},
                }
            ]
        return {
            "meta_object": {
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": self.config.number.lstrip("+"),
                        "phone_number_id": "100000000000000",
                    },
                    "statuses": [status_object],
                },
                "field": "messages",
            },
            "extra_info": {
                "message_id": record["message_id"],
                "trace_id": uuid.uuid4().hex,
                "waba_id": "200000000000000",
                "ref": record["ref"],
                "ref1": record["ref1"],
                "ref2": record["ref2"],
            },
            "status": status,
            "message_id": record["message_id"],
        }

    def _callback_worker(self):
        session = requests.Session()
        while True:
            record = self._callback_queue.get()
            if record is None:
                return
            if isinstance(record, tuple):  # payment updates, posted as they are
                for event in record[1]:
                    time.sleep(self.config.callback_delay_ms / 1000)
                    answer = self._post(session, event)
                    with self.lock:
                        self.callbacks.append(
                            {
                                "reference_id": event["payment"]["reference_id"],
                                "status": f"payment:{event['status']}",
                                "answer": answer,
                            }
                        )
                continue
            fail = self.config.fail_digit and record["to"].endswith(self.config.fail_digit)
            statuses = ["sent", "failed"] if fail else self.config.callback_statuses
            for status in statuses:
                time.sleep(self.config.callback_delay_ms / 1000)
                self._callback_post(session, record, status)

    def _callback_post(self, session, record, status):
        answer = self._post(session, self.callback_body(record, status))
        with self.lock:
            self.callbacks.append(
                {"message_id": record["message_id"], "status": status, "answer": answer}
            )

    def _post(self, session, body) -> int | str:
        """Post one callback body (three tries on 5xx or no answer): the last HTTP status, or
        the error's name."""
        auth = None
        if self.config.callback_auth:
            user, _, password = self.config.callback_auth.partition(":")
            auth = (user, password)
        answer = None
        for attempt in range(3):
            try:
                response = session.post(
                    self.config.callback_url,
                    json=body,
                    auth=auth,
                    timeout=(3, 10),
                )
                answer = response.status_code
                if answer < 500:
                    break
            except requests.RequestException as exc:
                answer = type(exc).__name__
            time.sleep(0.2 * (attempt + 1))
        return answer
