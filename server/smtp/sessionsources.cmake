# SPDX-License-Identifier: AGPL-3.0-or-later
add_library(valv_smtp STATIC smtpsession.cpp submission.cpp forwarding.cpp checks.cpp)
target_link_libraries(valv_smtp PUBLIC valv_smtp_parser valv_core valv_delivery valv_store valv_outbound valv_auth)
