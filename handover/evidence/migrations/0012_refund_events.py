# A refund through the payment provider: sent, failed, tried again.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0011_attachment_downloaded_event"),
    ]

    operations = [
        migrations.AlterField(
            model_name="event",
            name="type",
            field=models.CharField(
                choices=[
                    ("order.placed", "Order Placed"),
                    ("order.answers_updated", "Answers Updated"),
                    ("payment.started", "Payment Started"),
                    ("order.transition", "Order Transition"),
                    ("message.posted", "Message Posted"),
                    ("delivery.created", "Delivery Created"),
                    ("delivery.released_early", "Delivery Released Early"),
                    ("file.original_downloaded", "Original Downloaded"),
                    ("file.original_refused", "Original Refused"),
                    ("file.preview_made", "Preview Made"),
                    ("file.preview_failed", "Preview Failed"),
                    ("file.preview_viewed", "Preview Viewed"),
                    ("support.note", "Support Note"),
                    ("support.dispute_assigned", "Dispute Assigned"),
                    ("review.submitted", "Review Submitted"),
                    ("report.filed", "Report Filed"),
                    ("order.auto_complete_changed", "Auto Complete Changed"),
                    ("order.revision_granted", "Revision Granted"),
                    ("ledger.cleared", "Funds Cleared"),
                    ("ledger.payout", "Payout Made"),
                    ("offer.created", "Offer Created"),
                    ("offer.terms_versioned", "Offer Terms Versioned"),
                    ("report.handled", "Report Handled"),
                    ("user.warned", "User Warned"),
                    ("user.suspended", "User Suspended"),
                    ("user.reinstated", "User Reinstated"),
                    ("file.attachment_downloaded", "Attachment Downloaded"),
                    ("ledger.refund_sent", "Refund Sent"),
                    ("ledger.refund_failed", "Refund Failed"),
                    ("ledger.refund_retried", "Refund Retried"),
                ],
                max_length=48,
            ),
        ),
    ]
