"""Demo agencies and users for `make run`: Kaohsiung-like bureaus, district offices and enterprises."""

from django.db import transaction

from . import services
from .models import Agency, User
from .roles import Role

DEMO_PASSWORD = "Rdec-demo-2026"
# Every demo seeder gives its users an address here (`<username>@demo.rdec.example`): that is how they are listed.
DEMO_EMAIL_DOMAIN = "@demo.rdec.example"

AGENCIES = [
    # code, name, name_en, kind, parent code
    ("RDEC", "高雄市政府研究發展考核委員會", "Research, Development and Evaluation Commission", "bureau", None),
    ("PWB", "高雄市政府工務局", "Public Works Bureau", "bureau", None),
    ("TB", "高雄市政府交通局", "Transportation Bureau", "bureau", None),
    ("SB", "高雄市政府社會局", "Social Affairs Bureau", "bureau", None),
    ("EPB", "高雄市政府環境保護局", "Environmental Protection Bureau", "bureau", None),
    ("EDB", "高雄市政府經濟發展局", "Economic Development Bureau", "bureau", None),
    ("CB", "高雄市政府文化局", "Cultural Affairs Bureau", "bureau", None),
    ("MTO", "高雄市政府捷運工程局", "Mass Rapid Transit Bureau", "bureau", None),
    ("QZD", "高雄市前鎮區公所", "Qianzhen District Office", "district_office", None),
    ("FSD", "高雄市鳳山區公所", "Fengshan District Office", "district_office", None),
    ("GSD", "高雄市岡山區公所", "Gangshan District Office", "district_office", None),
    ("KHW", "高雄市政府水利局", "Water Resources Bureau", "bureau", None),
    ("KMB", "高雄市公車處", "Kaohsiung City Bus", "enterprise", "TB"),
    ("NSYSU", "國立中山大學", "National Sun Yat-sen University", "school", None),
]

USERS = [
    # username, display name, agency code, roles, superuser
    ("admin", "系統管理員", "RDEC", [Role.ADMIN], True),
    ("rdec.officer", "研考會承辦 林怡君", "RDEC", [Role.RDEC_OFFICER], False),
    ("rdec.chief", "研考會科長 陳志明", "RDEC", [Role.RDEC_SUPERVISOR], False),
    ("pwb.clerk", "工務局承辦 黃雅婷", "PWB", [Role.AGENCY_CLERK], False),
    ("pwb.head", "工務局局長 張國華", "PWB", [Role.AGENCY_HEAD], False),
    ("tb.clerk", "交通局承辦 李冠宇", "TB", [Role.AGENCY_CLERK], False),
    ("tb.head", "交通局局長 吳淑芬", "TB", [Role.AGENCY_HEAD], False),
    ("sb.clerk", "社會局承辦 蔡佩珊", "SB", [Role.AGENCY_CLERK], False),
    ("sb.head", "社會局局長 許文彬", "SB", [Role.AGENCY_HEAD], False),
    ("qzd.clerk", "前鎮區公所承辦 鄭家豪", "QZD", [Role.AGENCY_CLERK], False),
    ("qzd.head", "前鎮區區長 謝美玲", "QZD", [Role.AGENCY_HEAD], False),
    ("reviewer.lee", "評審委員 李教授", "NSYSU", [Role.REVIEWER], False),
    ("reviewer.wang", "評審委員 王顧問", None, [Role.REVIEWER], False),
    ("student.chen", "研究生 陳同學", None, [Role.APPLICANT], False),
]


@transaction.atomic
def seed_accounts() -> list[tuple[str, str, str]]:
    """Create what is missing (idempotent); return (username, display name, roles) for the printed list."""
    by_code = {a.code: a for a in Agency.objects.all()}
    for code, name, name_en, kind, parent in AGENCIES:
        if code not in by_code:
            by_code[code] = services.agency_create(
                actor=None, code=code, name=name, name_en=name_en, kind=kind, parent=by_code.get(parent)
            )
    existing = set(User.objects.values_list("username", flat=True))
    logins = []
    for username, display, agency_code, roles, superuser in USERS:
        if username not in existing:
            user = services.user_create(
                actor=None,
                username=username,
                password=DEMO_PASSWORD,
                email=f"{username.replace('.', '_')}{DEMO_EMAIL_DOMAIN}",
                display_name=display,
                agency=by_code.get(agency_code),
                roles=list(roles),
            )
            if superuser:
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
        logins.append((username, display, ", ".join(roles)))
    return logins


def seed() -> list[str]:
    """Seeder for `seed_demo`: the agencies and the first users (the logins are printed by `demo_logins`)."""
    seed_accounts()
    return []


ROLE_ORDER = [Role.ADMIN, Role.RDEC_OFFICER, Role.RDEC_SUPERVISOR, Role.AGENCY_CLERK, Role.AGENCY_HEAD, Role.REVIEWER]


def demo_logins() -> list[str]:
    """Every demo user the seeders made (theirs is the demo e-mail domain): username, password and roles, RDEC
    first, then the agencies', the reviewers and the applicants, so any role can be tried."""
    users = User.objects.filter(email__endswith=DEMO_EMAIL_DOMAIN, is_active=True).prefetch_related("groups")
    rows = []
    for user in users:
        codes = {g.name for g in user.groups.all()} & set(Role.values)
        if user.is_superuser:
            codes.add(Role.ADMIN)
        first = min((ROLE_ORDER.index(c) if c in ROLE_ORDER else len(ROLE_ORDER) for c in codes), default=99)
        labels = "、".join(str(Role(c).label) for c in sorted(codes, key=lambda c: list(Role.values).index(c)))
        rows.append((first, user.username, labels, user.display_name))
    lines = [f"示範帳號 {len(rows)} 個，密碼皆為 {DEMO_PASSWORD} / {len(rows)} demo logins, password {DEMO_PASSWORD}:"]
    width = max((len(username) for _first, username, _labels, _name in rows), default=0) + 2
    for _first, username, labels, name in sorted(rows):
        lines.append(f"  {username:<{width}}{DEMO_PASSWORD}  [{labels}]  {name}")
    return lines
