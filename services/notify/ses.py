"""Amazon SES v2 through boto3. Sent as Raw content so our Message-ID and both bodies survive."""

from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.notify.base import Email, Notifier, NotifierRejected, NotifierUnavailable
from services.notify.mime import to_mime
from services.notify.settings import NotifySettings

# SES error codes that mean "this message will never be accepted as it is".
PERMANENT_ERRORS = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "BadRequestException",
    "NotFoundException",
    "InvalidParameterValue",
}


class SesNotifier(Notifier):
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self.client = boto3.client(
            "sesv2",
            region_name=settings.ses_region,
            endpoint_url=settings.ses_endpoint_url,
            config=Config(
                connect_timeout=settings.ses_timeout_s,
                read_timeout=settings.ses_timeout_s,
                retries={"max_attempts": 1},  # our caller owns retries and their backoff
            ),
        )

    def send(self, email: Email) -> None:
        message = to_mime(email, self.settings.sender, self.settings.gateway_url)
        # No Destination: SES then takes the recipients from the To header (naming both makes
        # some implementations count each recipient twice).
        request = {
            "FromEmailAddress": self.settings.sender,
            "Content": {"Raw": {"Data": message.as_bytes()}},
        }
        if self.settings.ses_configuration_set:
            request["ConfigurationSetName"] = self.settings.ses_configuration_set
        try:
            self.client.send_email(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in PERMANENT_ERRORS or (400 <= status < 500 and code != "TooManyRequestsException"
                                            and code != "LimitExceededException"):
                raise NotifierRejected(f"SES rejected the message: {code}") from error
            raise NotifierUnavailable(f"SES unavailable: {code or status}") from error
        except BotoCoreError as error:
            raise NotifierUnavailable(f"SES unreachable: {type(error).__name__}") from error
