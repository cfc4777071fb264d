"""Call reasons as analyses word them (an LLM's one sentence, or the offline analyzer's customer
complaint), in four themes, for the call-driver tests."""

from __future__ import annotations

REASONS: dict[str, list[str]] = {
    "billing": [
        "I was charged twice for my phone bill this month.",
        "There is a charge on my bill that I do not recognise.",
        "My monthly bill is much higher than it should be, you overcharged me.",
        "The customer disputes a double charge on the latest invoice.",
        "I want to dispute a fee on my statement, I never agreed to it.",
        "Why was I billed for a service I cancelled last month?",
        "The customer was overcharged on the March bill and wants the difference refunded.",
        "I see a duplicate payment taken from my account for the same invoice.",
    ],
    "lost card": [
        "I lost my credit card yesterday and need to block it.",
        "My debit card was stolen from my bag this morning.",
        "The customer reports a lost card and asks for a replacement.",
        "I can't find my bank card anywhere, please freeze it.",
        "Someone stole my wallet with my card in it.",
        "I think I left my card at the restaurant, can you cancel it and send a new one?",
        "My card was stolen and there are payments I did not make.",
        "The customer's card went missing while travelling and needs a new card.",
    ],
    "address change": [
        "I moved house and need to update my address.",
        "The customer wants to change the postal address on the account.",
        "Please change my mailing address, I have a new flat.",
        "I'm relocating next week, how do I update my home address with you?",
        "My letters keep going to my old address after the move.",
        "The customer asks to update their billing address after moving to Leeds.",
        "We moved to a new house and I need to change the address for deliveries.",
        "I need to correct the street name in my address, it is spelled wrong.",
    ],
    "cancellation": [
        "I want to cancel my subscription.",
        "The customer wants to close the account and stop the service.",
        "Please cancel my contract, I'm switching to another provider.",
        "How do I terminate my membership before it renews?",
        "I'd like to end my plan at the end of this month.",
        "The customer asks to cancel the broadband service because of the price.",
        "I don't want the premium package any more, cancel it please.",
        "I'm leaving for a competitor, please close my account.",
    ],
}
