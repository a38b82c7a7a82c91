"""The demo's support topics: what customers ask Lumio about and how agents answer.

Texts are ``str.format`` templates over the fields of
:func:`agentconsole_demo.content.fill_ins`; a topic's follow-ups and notes fit any of its
cases. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Case:
    """One concrete request: its subject, how it is first written (a mail or forum post, or
    chat lines separated by newlines) and how an agent answers it."""

    subject: str
    opener: str
    chat_opener: str
    reply: str

    def opening(self, kind: str) -> str:
        return self.chat_opener if kind == "chat" else self.opener


@dataclass(frozen=True, slots=True)
class Topic:
    """One kind of support request. ``priority`` is the rank (0 urgent .. 3 low) an agent
    gives it after triage; follow-ups and notes fit every case of the topic."""

    key: str
    tags: tuple[str, ...]
    priority: int
    cases: tuple[Case, ...]
    followups: tuple[str, ...]
    notes: tuple[str, ...]
    attachment: str | None = None  # a file customers of this topic tend to attach


TOPICS: tuple[Topic, ...] = (
    Topic(
        "double-charge",
        ("billing", "refund"),
        1,
        (
            Case(
                "Charged twice this month",
                "My card was charged {amount} twice on the same day for the {plan} plan. "
                "Invoice {invoice} shows once in the app but twice on my bank statement.",
                "hi, I got charged twice this month\nit's {amount} each time",
                "Sorry about that, {first}: the second charge of {amount} was a payment retry "
                "that should have been voided. I have refunded it; banks show it within 5 "
                "business days.",
            ),
            Case(
                "Duplicate payment on invoice {invoice}",
                "We were billed twice for {invoice}. Our accountant noticed it this morning; "
                "please refund the duplicate.",
                "hello? my bank shows two payments of {amount} for {invoice}",
                "I can see both payments for {invoice}. The duplicate is refunded; you will "
                "get a confirmation email from our payment provider.",
            ),
        ),
        (
            "Any news on the duplicate charge? It is still on my statement.",
            "Attached the bank statement, the two lines are highlighted.",
        ),
        (
            "Stripe shows two captures 3 seconds apart: the retry bug again. Refunded one.",
            "Third duplicate charge this week, all on the {plan} plan. Raising with billing eng.",
        ),
        "bank-statement.pdf",
    ),
    Topic(
        "invoice-copy",
        ("billing",),
        2,
        (
            Case(
                "Need a VAT invoice for {invoice}",
                "Could you send invoice {invoice} again with our VAT number on it? Our finance "
                "team cannot book it otherwise.",
                "can you add our VAT number to {invoice}?\nfinance needs it",
                "Done, {first}: {invoice} now shows your VAT number, and future invoices will "
                "carry it too. The new PDF is under Settings → Billing → History.",
            ),
            Case(
                "Where can I download past invoices?",
                "I need last month's invoice for our tax return but cannot find where to "
                "download it.",
                "where do I find my invoices?\nneed the one from last month for taxes",
                "Hi {first}, invoices are under Settings → Billing → History; each has a PDF "
                "button on the right.",
            ),
        ),
        (
            "Also, can {customer_company} be on the invoices instead of my name?",
            "Finance says they still need the PDF, not just the link.",
        ),
        ("VAT field was empty in their billing profile; filled it in.",),
    ),
    Topic(
        "refund",
        ("refund", "billing"),
        2,
        (
            Case(
                "Refund request for annual plan",
                "We switched to another tool last week and would like a refund of the {amount} "
                "we paid for the annual {plan} plan. We only used it for a few days.",
                "can I get a refund? we stopped using {company} after a week",
                "Hi {first}, the annual plan is within the 14-day window, so I refunded the "
                "full {amount}. It can take a few days to show on your card.",
            ),
            Case(
                "Cancel and refund please, order {order}",
                "Please cancel our subscription and refund the remaining months. Order {order}.",
                "please cancel our plan and refund the rest\norder {order}",
                "Sorry to see you go, {first}! The renewal is cancelled and the unused months "
                "of order {order} are refunded.",
            ),
        ),
        (
            "Just checking the refund went through, I don't see it yet.",
            "Is a partial refund possible if a full one is not?",
        ),
        (
            "Within the refund window per policy, OK to refund.",
            "Asked them why they are leaving; answer was 'missing multi-currency'.",
        ),
    ),
    Topic(
        "lost-2fa",
        ("login",),
        1,
        (
            Case(
                "Locked out: lost phone with 2FA",
                "I replaced my phone and the authenticator app did not carry over. Now I "
                "cannot log in to our {company} account and the shop opens in two hours.",
                "I'm locked out\nnew phone, no 2FA app anymore\nplease help, shop opens soon",
                "Hi {first}, I have reset two-factor authentication on your account after "
                "checking your identity. Log in with your password and set it up again.",
            ),
            Case(
                "2FA codes not accepted",
                "The 6-digit codes from my authenticator are always rejected with {error}. I "
                "checked that the phone has signal.",
                "codes from my authenticator don't work, says {error}",
                "Your phone's clock was off by a few minutes, {first}, which breaks the codes. "
                "Set the time to automatic and they will work.",
            ),
        ),
        (
            "Still locked out. What do you need from me to verify it's me?",
            "I sent the ID photo you asked for an hour ago.",
        ),
        ("Identity verified with last 4 of card + last invoice amount.",),
    ),
    Topic(
        "password-reset",
        ("login",),
        2,
        (
            Case(
                "Password reset email never arrives",
                "I clicked 'forgot password' three times but no email arrives, not even in "
                "spam. My address is {email}.",
                "the reset email never comes\nchecked spam too",
                "Our mail provider had a delay this morning, {first}; it is back to normal. I "
                "sent you a fresh reset link valid for one hour.",
            ),
            Case(
                "Reset link says expired",
                "The password reset link says it has expired, though I clicked it within a minute.",
                "reset link says expired?? I clicked it right away",
                "Links expire when a newer one is requested, {first}, and some mail scanners "
                "open links before you do. I sent a new one: please use only that email.",
            ),
        ),
        (
            "Now two reset emails arrived at once, and both links say expired.",
            "Found it in the 'Updates' tab, sorry! All good.",
        ),
        ("Outlook link scanners pre-click reset links, which burns them. Known issue.",),
    ),
    Topic(
        "sso",
        ("login", "bug"),
        1,
        (
            Case(
                "SAML login fails with {error}",
                "Since this morning nobody at {customer_company} can log in through SSO. After "
                "Okta we land on an error page: {error}.",
                "SSO is broken for our whole team\nerror {error}",
                "Thanks {first}: your identity provider rotated its signing certificate. "
                "Upload the new one under Settings → Security → SSO and logins work again.",
            ),
            Case(
                "Okta login loops back to the sign-in page",
                "Our SAML login loops: Okta, then {company}, then Okta again. About 40 people "
                "are blocked.",
                "okta login just loops\n40 people blocked",
                "We found the loop on our side and deployed a fix, {first}; please try again now.",
            ),
        ),
        (
            "Our IdP certificate was rotated yesterday, could that be it?",
            "Any update? People are starting to share passwords to get work done.",
        ),
        ("Cert fingerprint mismatch in the SAML logs.", "40 seats. Keep an eye on this one."),
        "saml-error.png",
    ),
    Topic(
        "export-bug",
        ("bug",),
        2,
        (
            Case(
                "CSV export is empty",
                "When I export last month's sales to CSV the file only has the header row. "
                "Filters: all stores, {month}. Browser: {browser}.",
                "csv export gives me an empty file\ntried twice",
                "Thanks for the details, {first}. It is a known bug with exports spanning a "
                "time change; a fix ships this week. Exporting one week at a time works.",
            ),
            Case(
                "[URGENT] Export fails with [/bold] in the file name",
                'Exports named like our store, "Café [Main] [/bold]", fail with an error. '
                "Other names work. Browser: {browser}.",
                "export fails when the store name has [brackets]",
                "Good catch, {first}: brackets in store names break the export file name. "
                "Fixed today; exports of [Main] work now.",
            ),
            Case(
                "Excel shows garbled characters in export",
                "Exports open in Excel with broken accents (Ã© instead of é). Is there a UTF-8 "
                "option?",
                "excel shows weird characters in the export",
                "Excel needs a hint, {first}: choose 'CSV (UTF-8 with BOM)' in the export "
                "dialog and accents show correctly.",
            ),
        ),
        ("Tried another browser, same result.", "It works for this month but not for {month}."),
        ("Reproduced on staging. Ticket ENG-4312.",),
        "screenshot.png",
    ),
    Topic(
        "app-crash",
        ("bug",),
        1,
        (
            Case(
                "Register app crashes on checkout",
                "Since the update to version {version}, the register app closes as soon as a "
                "customer pays by card. It happened {count} times today.",
                "the app keeps crashing at checkout\nversion {version}\nhappened {count} times",
                "Sorry for the trouble, {first}. Version {version} crashes with some card "
                "readers; {version_fix} is out in the App Store and fixes it.",
            ),
            Case(
                "iPad app freezes on the payment screen",
                "The iPad app freezes on the payment screen. We had to take cash all afternoon.",
                "ipad app frozen on payment\ncash only now",
                "Could you send the report from Settings → Help → Diagnostics, {first}? It "
                "tells us exactly where it hangs.",
            ),
        ),
        (
            "Happened again just now, with a different iPad.",
            "Is there a way to go back to the previous version?",
        ),
        ("Crash report points at the reader firmware handshake. Same as ENG-4290.",),
        "crash-report.txt",
    ),
    Topic(
        "outage",
        ("bug", "outage"),
        0,
        (
            Case(
                "Everything is down: 502 errors",
                "The dashboard shows 502 Bad Gateway for all of us, and the registers cannot "
                "take card payments. We are losing sales right now.",
                "is lumio down??\nall registers say offline\npayments failing",
                "We had an outage of the payments service from {time} for about 20 minutes, "
                "{first}. It is resolved; registers reconnect by themselves.",
            ),
            Case(
                "Cannot take payments at all",
                "None of our 3 stores can process card payments since {time}. Is there an outage?",
                "card payments fail in all 3 stores since {time}",
                "Confirmed outage, {first}; our engineers are on it. Live updates on "
                "status.lumio.example.",
            ),
        ),
        ("Still down here. Any ETA?", "Back up for one store, the other two still fail."),
        ("Linked to incident INC-88. Close once the customer confirms.",),
    ),
    Topic(
        "feature-request",
        ("feature-request",),
        3,
        (
            Case(
                "Feature request: dark mode",
                "We love {company}, but we miss a dark mode for the register; our bar is dim "
                "at night and the white screen is blinding.",
                "any plans for dark mode?",
                "Thank you for the idea, {first}! I added your vote to the dark mode request; "
                "the product team reviews them every month.",
            ),
            Case(
                "Could you add webhooks for refunds?",
                "Would it be possible to get a webhook when a refund is issued? We sync refunds "
                "into our ERP by hand today.",
                "feature idea: webhooks for refunds",
                "Good news, {first}: refund webhooks are in beta. I have enabled them on your "
                "account.",
            ),
        ),
        ("Adding a +1 from two other shop owners I know.", "Happy to beta test it!"),
        ("Top-10 request this quarter. Added their account to the feature board.",),
    ),
    Topic(
        "shipping-late",
        ("shipping",),
        2,
        (
            Case(
                "Where is my card reader? Order {order}",
                "We ordered two card readers ({order}) ten days ago and they have not arrived. "
                "The tracking page has said 'label created' for a week.",
                "hi, my reader order {order} hasn't arrived\ntracking stuck",
                "I checked with our warehouse, {first}: order {order} was missed at pickup. It "
                "ships today by express at no cost.",
            ),
            Case(
                "Tracking number doesn't work",
                "The tracking number for order {order} is not found on the carrier's site.",
                "tracking for {order} says not found",
                "The carrier lost the parcel, {first}; I have sent replacements for {order} "
                "by express.",
            ),
        ),
        (
            "The carrier says they never received the parcel.",
            "We open the second store on Monday, we really need them by then.",
        ),
        ("Warehouse confirms missed pickup. Express reship approved.",),
    ),
    Topic(
        "shipping-damaged",
        ("shipping", "refund"),
        1,
        (
            Case(
                "Card reader arrived damaged",
                "The reader from order {order} arrived with a cracked screen; the box was "
                "crushed. Photo attached.",
                "reader arrived broken\nscreen cracked, box was crushed",
                "Sorry about that, {first}! A replacement reader is on its way; keep the "
                "broken one, no need to return it.",
            ),
            Case(
                "Reader does not power on",
                "Our new reader from order {order} does not turn on, even after charging all "
                "night.",
                "new reader won't turn on\ncharged all night",
                "I have started a replacement for order {order}, {first}, with a prepaid "
                "return label for the faulty reader.",
            ),
        ),
        (
            "Do I need to send the broken one back?",
            "The replacement arrived, but the charging cable is missing.",
        ),
        ("Carrier damage. Claim filed, replacement shipped.",),
        "IMG_2041.jpg",
    ),
    Topic(
        "plan-change",
        ("billing",),
        3,
        (
            Case(
                "Upgrade to Team plan mid-month?",
                "If we upgrade from Starter to Team today, do we pay the full month or only "
                "the difference?",
                "if I upgrade now, is it prorated?",
                "Hi {first}, upgrades are prorated: you pay only the difference for the rest "
                "of the month. Settings → Billing → Change plan.",
            ),
            Case(
                "How do I add more seats?",
                "We are hiring two people; how do I add seats and what does it cost?",
                "how do I add seats?",
                "Seats are added under Settings → Team, {first}; each is billed pro rata.",
            ),
        ),
        (
            "And if we go back to Starter later, do we lose data?",
            "Great, and is there a discount for yearly billing?",
        ),
        ("Potential upsell: 12 locations on Starter. Flagged to sales.",),
    ),
    Topic(
        "data-export",
        ("privacy",),
        2,
        (
            Case(
                "GDPR data request",
                "Under GDPR I request a copy of all personal data you hold about me, and its "
                "deletion afterwards.",
                "I want a copy of my data and then delete my account (GDPR)",
                "Hi {first}, your data export is ready under Settings → Account → Export. "
                "Deletion follows within 30 days, backups included.",
            ),
            Case(
                "Export all our data before closing",
                "We are closing the business. How do we export everything before deleting the "
                "account?",
                "we're closing the shop, how do I export everything?",
                "Sorry to hear that, {first}. I have started a full export; the download link "
                "will be emailed to you.",
            ),
        ),
        (
            "Do you also delete the data from backups?",
            "Thanks, export received. Please go ahead with the deletion.",
        ),
        ("Identity confirmed by reply from the account email. DPO in copy.",),
    ),
)
