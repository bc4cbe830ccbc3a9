"""A local world of stories: one event rewritten by four outlets (different titles and paragraphs, the same
facts and names), beside other events about the same company on the same days, which must stay apart; and
an event whose rewrites take different angles (`RECALL`), which only form one story whatever their order if
stories that one rewrite ties together merge."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Piece:
    outlet: str  # the feed's title
    slug: str
    title: str
    summary: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


# -- the event: the Commerce Department puts DeepSeek on the Entity List ------------------------

ENTITY_LIST = (
    Piece(
        "Policy Wire", "commerce-adds-deepseek-entity-list",
        "Commerce Department adds DeepSeek to the Entity List",
        "The Hangzhou lab and eleven affiliates will need a licence for any American technology.",
        (
            "The US Commerce Department on Tuesday added DeepSeek, the Hangzhou artificial intelligence lab, "
            "and eleven of its affiliates to the Entity List, barring American companies from selling them "
            "technology without a licence that officials said would be presumptively denied.",
            "Commerce Secretary Laura Whitcombe said the listing followed evidence that the lab had obtained "
            "Nvidia H20 accelerators through shell companies in Singapore and Malaysia after earlier export "
            "controls took effect. The rule takes effect on Friday.",
            "DeepSeek did not respond to a request for comment. Its app remained available in American app "
            "stores, which the listing does not cover.",
        ),
    ),
    Piece(
        "Chip Letter", "deepseek-blacklisted-h20",
        "Washington blacklists DeepSeek over smuggled Nvidia H20 chips",
        "Laura Whitcombe's department says shell companies in Singapore and Malaysia fed the lab's clusters.",
        (
            "DeepSeek has been placed on the Entity List, the Commerce Department's trade blacklist, together "
            "with eleven affiliated companies, cutting the Chinese lab off from American chips, software and "
            "cloud services unless it wins a licence.",
            "Secretary Laura Whitcombe told reporters that investigators had traced Nvidia H20 accelerators "
            "bought by front companies in Singapore and Malaysia to DeepSeek's Hangzhou data centers, in "
            "breach of the export controls. The listing is effective Friday.",
            "Analysts said the step matters less for chips the lab already holds than for the spare parts, "
            "software updates and cloud capacity it would need to keep them running.",
        ),
    ),
    Piece(
        "Tech Daily", "deepseek-entity-list-what-it-means",
        "DeepSeek lands on US Entity List: what the trade ban means for the AI lab",
        "Eleven affiliates are named too; licences will presumptively be denied, Commerce says.",
        (
            "The Hangzhou-based DeepSeek was added to the US Entity List on Tuesday along with eleven "
            "affiliates, the Commerce Department said, meaning American suppliers now need a licence, "
            "presumptively denied, to ship it anything.",
            "According to Commerce Secretary Laura Whitcombe, the lab acquired Nvidia H20 accelerators via "
            "shell firms in Singapore and Malaysia after export controls were tightened. The listing takes "
            "effect Friday.",
            "Here is what changes for users: nothing yet. DeepSeek's chatbot app and its open weights are "
            "not covered by the rule.",
        ),
    ),
    Piece(
        "Asia Markets Daily", "us-trade-blacklist-deepseek-affiliates",
        "US trade blacklist hits DeepSeek and eleven affiliates",
        "Officials cite H20 chips routed through Singapore and Malaysia.",
        (
            "The United States put DeepSeek and eleven affiliated firms on its Entity List on Tuesday, the "
            "Commerce Department announced, after finding that Nvidia H20 chips had reached the company "
            "through intermediaries in Singapore and Malaysia.",
            "Laura Whitcombe, the commerce secretary, said licence applications would be presumptively "
            "denied. The measure takes effect on Friday and extends earlier export controls.",
            "Shares of Chinese chip designers rose in Hong Kong trading on expectations that local suppliers "
            "would win DeepSeek's business.",
        ),
    ),
)

# -- other events about the same company, the same days -----------------------------------------

OTHERS = (
    Piece(
        "Tech Daily", "deepseek-app-tops-charts",
        "DeepSeek's chatbot app climbs app store charts as developers test its open weights",
        "The assistant became the most downloaded free app in several countries within a week.",
        (
            "DeepSeek's chatbot app climbed to the top of the free download charts in more than a dozen "
            "countries this week, days after the company released the open weights behind it.",
            "According to download figures from a market research firm, the app was installed several million "
            "times in its first five days, with the strongest growth in India, Brazil and Indonesia.",
        ),
    ),
    Piece(
        "Chip Letter", "deepseek-stockpile-history",
        "How DeepSeek built its accelerator stockpile before the rules changed",
        "Filings suggest the lab's parent bought thousands of chips ahead of new limits.",
        (
            "DeepSeek's ability to train competitive models rests partly on hardware its parent company bought "
            "years ago, according to procurement records and people familiar with its purchases.",
            "Those purchases were legal at the time. The first American export control package aimed at "
            "advanced chips took effect in October 2022, and the lab's largest orders appear to predate it.",
        ),
    ),
    Piece(
        "Policy Wire", "deepseek-model-washington",
        "DeepSeek's latest model puts Washington's chip strategy under scrutiny",
        "The Chinese lab's new reasoning model rivals US systems at a fraction of the cost.",
        (
            "DeepSeek, the Hangzhou-based artificial intelligence lab, released a reasoning model this week "
            "that matches leading American systems on several public benchmarks while, by the company's "
            "account, costing a fraction as much to train.",
            "The release landed in Washington as officials debate how to respond to capable Chinese models. "
            "At the centre of the argument are the export controls the Commerce Department first imposed in "
            "2022.",
        ),
    ),
    Piece(
        "Asia Markets Daily", "nvidia-h20-sales-china-quarter",
        "Nvidia says H20 sales to China fell by half last quarter",
        "The chipmaker blamed export controls and slower orders from cloud providers.",
        (
            "Nvidia said sales of its H20 accelerator to Chinese customers fell by roughly half in the last "
            "quarter, as export controls and cautious cloud providers weighed on demand.",
            "The company said it still expected China to account for a smaller but steady share of its data "
            "center revenue this year.",
        ),
    ),
)


# -- an event told from two angles: the regulator's recall and the maker's bill -------------------------
# The first two are too far apart to join each other (the recall, the share price), the third tells both;
# the fourth is the regulator's side again.

RECALL = (
    Piece(
        "Policy Wire", "kestrel-recall-regulator",
        "Regulator orders Kestrel Motors to recall 400,000 Vireo cars over battery fires",
        "The National Highway Traffic Safety Administration cited 31 fires in parked vehicles.",
        (
            "The National Highway Traffic Safety Administration on Wednesday ordered Kestrel Motors to recall "
            "about 400,000 Vireo electric cars built since 2023, after investigators linked 31 fires in parked "
            "vehicles to a fault in the battery's cooling plate.",
            "Owners are told to park outside and keep the charge below 80 percent until dealers replace the "
            "modules. The agency said the defect report was filed late and that it may fine the carmaker.",
        ),
    ),
    Piece(
        "Chip Letter", "kestrel-shares-slide",
        "Kestrel shares slide on a $1.2 billion bill to fix the Vireo",
        "Chief executive Dana Okafor blamed cells made by a supplier in Gdansk.",
        (
            "Shares of Kestrel Motors lost 14 percent, their worst day since the company listed, after its "
            "chief executive, Dana Okafor, told analysts that replacing faulty modules would cost up to "
            "$1.2 billion.",
            "Okafor said the cells were made by a supplier in Gdansk and that Kestrel would seek to recover "
            "the money. Output of the Vireo at the Fremont plant continues during the recall.",
        ),
    ),
    Piece(
        "Asia Markets Daily", "kestrel-vireo-recall-fires",
        "Kestrel Motors recalls 400,000 Vireo EVs after battery fires; Okafor puts cost at $1.2 billion",
        "US safety regulators linked 31 fires to the cars' battery cooling plates.",
        (
            "Kestrel Motors will recall about 400,000 Vireo electric cars after the National Highway Traffic "
            "Safety Administration linked 31 fires in parked vehicles to the battery cooling plate, the "
            "carmaker and the regulator said on Wednesday.",
            "Chief executive Dana Okafor told analysts that replacing the modules, whose cells come from a "
            "supplier in Gdansk, would cost up to $1.2 billion. Kestrel shares lost 14 percent.",
        ),
    ),
    Piece(
        "Tech Daily", "vireo-owners-park-outside",
        "Vireo owners told to park outside as the safety agency widens its battery fire inquiry",
        "The agency says 31 fires started in parked cars; dealers will replace cooling plates.",
        (
            "Owners of Kestrel's Vireo should park outside and charge to no more than 80 percent, the National "
            "Highway Traffic Safety Administration said, as it ordered the recall of about 400,000 of the cars.",
            "Investigators traced 31 fires in parked vehicles to the battery's cooling plate. Kestrel, whose "
            "shares lost 14 percent, puts the cost of new modules from its Gdansk supplier at $1.2 billion.",
        ),
    ),
)
