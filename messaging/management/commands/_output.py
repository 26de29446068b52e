"""What the send commands print: the batch queued and every refusal."""


def queue_result_write(command, result) -> None:
    if result.batch is not None:
        command.stdout.write(
            f"Queued {len(result.messages)} message(s) in batch #{result.batch.pk} "
            f"'{result.batch.name}'."
        )
        for message in result.messages:
            command.stdout.write(f"  queued  {message.recipient}  ref={message.ref}")
    else:
        command.stdout.write("Nothing queued.")
    for refusal in result.refused:
        command.stdout.write(f"  refused {refusal.target}: {refusal.reason}")
