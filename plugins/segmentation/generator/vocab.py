"""Static vocabularies the generator draws from (names, places, pages, formats).

Fixed tuples, no I/O: the same seed always picks the same values.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Anna", "Lukas", "Marie", "Jonas", "Sophie", "Leon", "Emma", "Finn", "Mia", "Paul",
    "Hannah", "Felix", "Lena", "Noah", "Laura", "Elias", "Julia", "Ben", "Lea", "Tim",
    "Zoë", "José", "Jürgen", "Renée", "Chloé", "Søren", "Małgorzata", "François", "Björn", "Ümit",
    "Olivia", "James", "Charlotte", "William", "Amelia", "Oliver", "Isabella", "Lucas", "Sara", "Mateo",
    "Fatma", "Mehmet", "Aylin", "Ahmed", "Yuki", "Wei", "Priya", "Arjun", "Nora", "Henrik",
)

LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger",
    "García", "Martínez", "Dubois", "Lefèvre", "Jansen", "de Vries", "Smith", "Jones", "Taylor", "Brown",
    "Wilson", "Evans", "Johnson", "Williams", "Rossi", "Bianchi", "Nowak", "Kowalski", "Yılmaz", "Kaya",
    "Öztürk", "Novák", "Larsen", "Nielsen", "Andersson", "Popescu", "Horvat", "Kovač", "Papadopoulos", "Ivanova",
)

# ISO code, English name, calling code, area codes, [(city, postal code)], share
COUNTRIES = (
    ("DE", "Germany", "49", ("30", "40", "89", "221", "69", "211"),
     (("Berlin", "10115"), ("Hamburg", "20095"), ("München", "80331"), ("Köln", "50667"), ("Frankfurt am Main", "60311"), ("Düsseldorf", "40213")), 0.55),
    ("AT", "Austria", "43", ("1", "316", "512"), (("Wien", "1010"), ("Graz", "8010"), ("Innsbruck", "6020")), 0.10),
    ("CH", "Switzerland", "41", ("44", "31", "61"), (("Zürich", "8001"), ("Bern", "3011"), ("Basel", "4051")), 0.08),
    ("NL", "Netherlands", "31", ("20", "10", "30"), (("Amsterdam", "1012 AB"), ("Rotterdam", "3011 AA"), ("Utrecht", "3511 AB")), 0.07),
    ("FR", "France", "33", ("1", "4", "5"), (("Paris", "75001"), ("Marseille", "13001"), ("Bordeaux", "33000")), 0.07),
    ("GB", "United Kingdom", "44", ("20", "161", "131"), (("London", "SW1A 1AA"), ("Manchester", "M1 1AE"), ("Edinburgh", "EH1 1YZ")), 0.08),
    ("US", "United States", "1", ("212", "415", "312"), (("New York", "10001"), ("San Francisco", "94103"), ("Chicago", "60601")), 0.05),
)

STREETS = (
    "Hauptstraße", "Bahnhofstr.", "Gartenweg", "Schillerstraße", "Lindenallee", "Kirchgasse", "Am Markt",
    "Main Street", "High Street", "Rue de Rivoli", "Keizersgracht", "Bahnhofplatz", "Ringstraße", "Park Lane",
)

EMAIL_DOMAINS = ("gmail.com", "web.de", "gmx.de", "outlook.com", "yahoo.com", "t-online.de", "icloud.com", "mail.example.org")
WORK_DOMAINS = ("firma.de", "corp.example.com", "work.example.net")
DOMAIN_TYPOS = {"gmail.com": "gmial.com", "web.de": "wbe.de", "gmx.de": "gmx.com", "outlook.com": "outlok.com",
                "yahoo.com": "yaho.com", "t-online.de": "tonline.de", "icloud.com": "icloud.co",
                "mail.example.org": "mail.exmaple.org"}

MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# UTC offsets used in timestamps: rendered suffix and minutes east of UTC.
OFFSETS = (("Z", 0), ("+00:00", 0), ("+01:00", 60), ("+02:00", 120), ("-05:00", -300),
           ("-08:00", -480), ("+05:30", 330), ("+09:00", 540))
OFFSET_WEIGHTS = (0.15, 0.05, 0.35, 0.2, 0.1, 0.05, 0.05, 0.05)

PAGES = ("/", "/sale", "/new-in", "/category/shoes", "/category/jackets", "/category/bags", "/help/shipping", "/account")
SEARCH_TERMS = ("sneaker", "rain+jacket", "backpack", "gift", "wool+scarf", "sale", "boots", "t-shirt")
DEVICES = ("desktop", "mobile", "tablet", "")
DEVICE_WEIGHTS = (0.45, 0.42, 0.08, 0.05)
OS_BY_DEVICE = {"desktop": ("Windows", "macOS", "Linux"), "mobile": ("iOS", "Android"),
                "tablet": ("iPadOS", "Android"), "": ("",)}
REFERRERS = ("", "www.google.com", "www.bing.com", "l.facebook.com", "www.instagram.com", "newsletter.shop.example", "duckduckgo.com")
UTM = (("google", "cpc", "brand_search"), ("newsletter", "email", "weekly_digest"), ("facebook", "social", "autumn_sale"),
       ("instagram", "social", "new_collection"), ("affiliate_x", "affiliate", "cashback"))

TRUE_VALUES = ("true", "yes", "y", "1")
TRUE_WEIGHTS = (0.7, 0.1, 0.1, 0.1)
FALSE_VALUES = ("false", "no", "n", "0")
FALSE_WEIGHTS = (0.7, 0.1, 0.1, 0.1)
