"""Who may call the cloud: accounts, users, applications, gateways and their tokens.

Every caller presents a token; every token belongs to a principal (a user,
an application or a gateway) inside one account, and grants each API
separately, down to the HTTP verb.
"""
